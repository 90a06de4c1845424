from tryon_model_server.serve import main

main()
