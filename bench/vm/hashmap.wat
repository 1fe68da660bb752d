;; Hash map: open addressing with linear probing over 2^16 slots of (key, value) i32 pairs in
;; linear memory; 1,000,000 upserts of pseudo-random keys (a counter per key), then 1,000,000 lookups.
(module
  (memory 8)
  (func $slot (param $key i32) (result i32)
    (local $h i32)
    ;; multiplicative hash → slot index; probe until the key or an empty slot (key 0 = empty)
    local.get $key
    i32.const -1640531535
    i32.mul
    i32.const 16
    i32.shr_u
    local.set $h
    block $found
      loop $probe
        local.get $h
        i32.const 3
        i32.shl
        i32.load
        local.tee $key
        i32.eqz
        br_if $found
        local.get $key
        local.get 0
        i32.eq
        br_if $found
        local.get $h
        i32.const 1
        i32.add
        i32.const 65535
        i32.and
        local.set $h
        br $probe
      end
    end
    local.get $h
    i32.const 3
    i32.shl)
  (func $next (param $x i32) (result i32)
    local.get $x
    local.get $x
    i32.const 13
    i32.shl
    i32.xor
    local.tee $x
    local.get $x
    i32.const 17
    i32.shr_u
    i32.xor
    local.tee $x
    local.get $x
    i32.const 5
    i32.shl
    i32.xor)
  (func (export "run") (result i32)
    (local $i i32) (local $x i32) (local $p i32) (local $sum i32)
    i32.const 0
    i32.const 0
    i32.const 524288
    memory.fill
    i32.const 2463534242
    local.set $x
    loop $ins
      local.get $x
      call $next
      local.tee $x
      i32.const 32767
      i32.and
      i32.const 1
      i32.add
      call $slot
      local.tee $p
      local.get $x
      i32.const 32767
      i32.and
      i32.const 1
      i32.add
      i32.store
      local.get $p
      local.get $p
      i32.load offset=4
      i32.const 1
      i32.add
      i32.store offset=4
      local.get $i
      i32.const 1
      i32.add
      local.tee $i
      i32.const 1000000
      i32.lt_u
      br_if $ins
    end
    i32.const 0
    local.set $i
    loop $look
      local.get $sum
      local.get $i
      i32.const 40000
      i32.rem_u
      i32.const 1
      i32.add
      call $slot
      i32.load offset=4
      i32.add
      local.set $sum
      local.get $i
      i32.const 1
      i32.add
      local.tee $i
      i32.const 1000000
      i32.lt_u
      br_if $look
    end
    local.get $sum))
