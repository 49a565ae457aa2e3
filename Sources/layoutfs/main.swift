import LayoutFSCommands

LayoutFSCommand.prepareProcess()
await LayoutFSCommand.runMain()
