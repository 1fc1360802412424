locals {
  dir = "data"
  inner { # ERROR: Unexpected block in locals
    a = 1
  }
}

files "src" {
  path = local.dir
}
