# The console's boot menu, for ever. Sourced by /init, which defines what the loop runs:
#   start_daemon    start `kexboot daemon` unless it is running
#   ui WHAT         run `kexboot WHAT` (menu or console) on the console
#   run_shell       the shell the user left the menu for
#   pause_briefly   wait a moment before the menu starts again
# Kept apart from /init so Tests/kexbootTests/InitLoopTests.swift runs this same loop
# with stand-ins for them.
#
# Only the menu's own exit starts a shell: status 10 (`x` in the full-screen menu, `q`
# in the line menu), which kexboot gives only when the daemon's settings allow it
# (`shell` not false) and the password, where one is set, was given. Anything else
# that ends the menu - the daemon out of reach, the end of input on the console, a
# crash or a signal - starts the menu again after a pause, so a menu that keeps failing
# does not spin. (`kexboot.shell` on the kernel command line, which /init reads before
# it gets here, is the other way to a shell.)

menu_shell_status=10

# One round: the menu (the line menu when curses cannot drive this terminal, status 1),
# then the shell or a pause.
menu_round() {
  start_daemon
  ui menu
  menu_status=$?
  if [ "$menu_status" -eq 1 ]; then
    ui console
    menu_status=$?
  fi
  if [ "$menu_status" -eq "$menu_shell_status" ]; then
    echo "kexboot: the menu ended; type 'exit' to start it again."
    run_shell
  else
    echo "kexboot: the menu ended (status $menu_status); starting it again."
    pause_briefly
  fi
}

menu_loop() {
  while true; do
    menu_round
  done
}
