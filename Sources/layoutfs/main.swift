import LayoutFSCommands

LayoutFSCommand.runMain()
