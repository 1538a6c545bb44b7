from opsctl.main import main

main()
