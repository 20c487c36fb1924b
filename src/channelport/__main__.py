from channelport.cli import main

main()
