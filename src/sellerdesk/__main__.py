from sellerdesk.cli import main

main()
