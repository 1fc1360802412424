files "src" {
  path = (((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((("data"))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))
}

exec "deep" {
  inputs = {
    a = { b = { c = files.src } } # ERROR: Not a step reference
    d = [[[[[[[[[[files.src]]]]]]]]]] # ERROR: Not a step reference
    e = files # ERROR: Incomplete step reference
    f = files.src.tree.x.y # ERROR: Invalid step reference
    h = files.src.* # ERROR: Not a step reference
    i = exec.deep.out[0] # ERROR: Invalid step reference
    "" = files.src # ERROR: Invalid input name
    (upper("j")) = files.src # ERROR: Invalid input name
    k = var.nothing # ERROR: Unknown variable
    l = path.module # ERROR: Unknown reference
    m = "files.src" # ERROR: Not a step reference
    n = null # ERROR: Not a step reference
  }
  command = ["sh", "-c", "mkdir -p out"]
  outputs = ["out"]
}

exec "params" {
  inputs  = { text = files.src }
  command = [[[[[[[[[[[[["sh"]]]]]]]]]]]]] # ERROR: Incorrect value type
  outputs = ["out"]
}

exec "fors" {
  inputs  = { text = files.src }
  command = [for x in files.src : x] # ERROR: Step reference in a parameter
  outputs = ["out"]
}

exec "calls" {
  inputs  = { text = files.src }
  command = [format("%d", "x"), range(100000)[0], max()] # ERROR: Error in function call | "format" # ERROR: Error in function call | "range" # ERROR: Error in function call | "max"
  outputs = ["out"]
}

exec "local_root" {
  inputs  = { text = files.src }
  command = [local] # ERROR: Unknown local value
  outputs = ["out"]
}
