"""`python -m chaihuo.cli`: the same entry point as the `chaihuo` command."""

from chaihuo.cli import main

main()
