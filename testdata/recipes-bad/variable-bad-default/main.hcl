# A variable whose default is invalid has a default: it must not also get
# "No value for required variable".

variable "copies" {
  type    = number
  default = "many" # ERROR: Incorrect value type | number
}

variable "name" {
  type    = strin # ERROR: Invalid type specification
  default = "x"
}

variable "other" {
  default = var.copies # ERROR: Variables not allowed
  colour  = "red" # ERROR: Unsupported argument
}

variable "copies" { # ERROR: Duplicate variable | main.hcl:4
  default = 2
}
