/* The floor of bench-startup: linked against exactly the libraries the
 * qlaunch tool links (with --no-as-needed, so that the dynamic loader maps
 * and initialises every one of them), it returns at once. */
int
main (void)
{
  return 0;
}
