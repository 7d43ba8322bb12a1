print("vitrine: the command-line tool is not built yet")
