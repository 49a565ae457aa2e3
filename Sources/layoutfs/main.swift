import LayoutFSCommands
LayoutFSCommand.main()
