;; Imports something the spectest module does not provide.
(module
  (import "spectest" "no_such_function" (func))
  (func (export "f") (result i32) i32.const 1))
