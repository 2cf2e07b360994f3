"""Runtime behaviour of each node kind and of the edges between them."""
