"""Board entry point: run the node application."""
import app

app.main()
