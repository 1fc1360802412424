locals {
  name = "data"
}

files "src" {
  path = local.nam # ERROR: Unknown local value | Did you mean "name"?
}
