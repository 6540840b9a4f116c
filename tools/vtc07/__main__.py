"""`python -m vtc07`, the same as the `vtc07` command."""

from vtc07.cli import main_exit

main_exit()
