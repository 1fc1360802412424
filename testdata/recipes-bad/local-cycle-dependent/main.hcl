# Only a and b form the cycle; use merely depends on it and must not be
# reported as a member of a cycle.

locals {
  a   = local.b # ERROR: Cycle in local values
  b   = local.a # ERROR: Cycle in local values
  use = "${local.a}/data"
}

files "src" {
  path = local.use
}
