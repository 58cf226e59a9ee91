from saleschannel.sandbox.cli import main

main()
