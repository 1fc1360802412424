locals {
  a = "${local.b}-x" # ERROR: Cycle in local values | a and b
  b = upper(local.a) # ERROR: Cycle in local values | a and b
}

files "src" {
  path = local.a
}
