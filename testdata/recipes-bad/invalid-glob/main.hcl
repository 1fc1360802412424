files "src" {
  path    = "data"
  include = ["[a"] # ERROR: Invalid glob | "[a"
}

files "up" {
  path    = "data"
  exclude = ["../secret"] # ERROR: Invalid glob | must not contain ..
}
