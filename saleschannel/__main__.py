from saleschannel.cli import main

main()
