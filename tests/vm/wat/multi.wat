;; Multi-value: refused by the contract profile, accepted with --features multi-value.
(module
  (func (export "pair") (param i32) (result i32 i64)
    local.get 0
    local.get 0
    i64.extend_i32_u
    i64.const 1
    i64.add))
