import LayoutFSCommands

await LayoutFSCommand.runMain()
