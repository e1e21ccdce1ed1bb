"""The instant matching queue (docs/product.md, rule 24): joining and leaving (`queue`), pairing a new
ticket with the earliest compatible waiting one (`pairing`, `planning`) and the viewer's ticket, its
queue position, estimated wait and matches (`reads`)."""
