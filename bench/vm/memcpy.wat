;; Memory copies: 4 KiB blocks moved around 1 MiB of memory, 200,000 times with memory.copy and
;; 10,000 times with a word-by-word loop of 64-bit loads and stores; returns a checksum.
(module
  (memory 16)
  (func $init
    (local $i i32)
    loop $l
      local.get $i
      local.get $i
      i32.const 2654435761
      i32.mul
      i32.store
      local.get $i
      i32.const 4
      i32.add
      local.tee $i
      i32.const 1048576
      i32.lt_u
      br_if $l
    end)
  (func $wordcopy (param $dst i32) (param $src i32)
    (local $k i32)
    loop $l
      local.get $dst
      local.get $k
      i32.add
      local.get $src
      local.get $k
      i32.add
      i64.load
      i64.store
      local.get $k
      i32.const 8
      i32.add
      local.tee $k
      i32.const 4096
      i32.lt_u
      br_if $l
    end)
  (func (export "run") (result i32)
    (local $n i32) (local $src i32) (local $dst i32) (local $sum i32)
    call $init
    loop $l
      local.get $n
      i32.const 7919
      i32.mul
      i32.const 1044479
      i32.and
      local.set $src
      local.get $n
      i32.const 104729
      i32.mul
      i32.const 1044479
      i32.and
      local.set $dst
      local.get $dst
      local.get $src
      i32.const 4096
      memory.copy
      local.get $n
      i32.const 20
      i32.rem_u
      i32.eqz
      if
        local.get $src
        local.get $dst
        call $wordcopy
      end
      local.get $sum
      local.get $dst
      i32.load
      i32.add
      local.set $sum
      local.get $n
      i32.const 1
      i32.add
      local.tee $n
      i32.const 200000
      i32.lt_u
      br_if $l
    end
    local.get $sum))
