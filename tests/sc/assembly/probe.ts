// probe — a test contract for weft's smart-contract host (src/sc): each export exercises one part
// of the ABI through the real massa-as-sdk.  Parameters and results use the Args encoding.
import { Args, bytesToString, stringToBytes, u64ToBytes } from '@massalabs/as-types';
import {
  Address,
  Context,
  Storage,
  balance,
  balanceOf,
  call,
  callerHasWriteAccess,
  createSC,
  functionExists,
  generateEvent,
  getBytecode,
  getKeys,
  getKeysOf,
  getOpData,
  getOpKeys,
  hasOpKey,
  isAddressEoa,
  isSignatureValid,
  keccak256,
  localCall,
  print,
  publicKeyToAddress,
  setBytecode,
  sha256,
  transferCoins,
  transferCoinsOf,
  unsafeRandom,
  validateAddress,
} from '@massalabs/massa-as-sdk';
import { env } from '@massalabs/massa-as-sdk/assembly/env';

// The raw imports, to hand the host pointers the SDK would never produce.
@external('massa', 'assembly_script_generate_event')
declare function rawGenerateEvent(ptr: usize): void;
@external('massa', 'assembly_script_get_data')
declare function rawGetData(ptr: usize): usize;

// ExecuteSC entry: stores op datastore entry "k" (if any) under key "k", says hello, and pays
// "amount" (u64) to "to" (an address string) when both are in the op datastore.
export function main(_: StaticArray<u8>): void {
  if (hasOpKey(stringToBytes('k'))) {
    Storage.set(stringToBytes('k'), getOpData(stringToBytes('k')));
  }
  generateEvent('hello from ' + Context.callee().toString());
  if (hasOpKey(stringToBytes('to')) && hasOpKey(stringToBytes('amount'))) {
    const to = new Address(bytesToString(getOpData(stringToBytes('to'))));
    const amount = new Args(getOpData(stringToBytes('amount'))).nextU64().unwrap();
    transferCoins(to, amount);
  }
  const keys = getOpKeys();
  generateEvent('op keys: ' + keys.length.toString());
}

// Args(key: string, value: string) → Storage.set, event "set <key>=<value>".
export function setValue(args: StaticArray<u8>): void {
  const a = new Args(args);
  const key = a.nextString().unwrap();
  const value = a.nextString().unwrap();
  Storage.set(key, value);
  generateEvent('set ' + key + '=' + value);
}

// Args(key: string) → the stored value (Args string); aborts if absent (get_data fails).
export function getValue(args: StaticArray<u8>): StaticArray<u8> {
  const key = new Args(args).nextString().unwrap();
  return new Args().add(Storage.get(key)).serialize();
}

// Args(key: string) → deletes it; returns Args(bool had, bool has).
export function delValue(args: StaticArray<u8>): StaticArray<u8> {
  const key = new Args(args).nextString().unwrap();
  const had = Storage.has(key);
  if (had) Storage.del(key);
  return new Args().add(had).add(Storage.has(key)).serialize();
}

// The keys of this contract's datastore and of another address (Args(address)), as an event.
export function keys(args: StaticArray<u8>): void {
  const mine = getKeys(stringToBytes(''));
  const other = getKeysOf(new Args(args).nextString().unwrap(), stringToBytes(''));
  generateEvent('keys ' + mine.length.toString() + ' ' + other.length.toString());
}

// Context: call stack, caller, callee, coins, balance, slot and time, as one event.
export function whoami(_: StaticArray<u8>): void {
  generateEvent(
    'stack=' +
      env.callStack() +
      ' caller=' +
      Context.caller().toString() +
      ' callee=' +
      Context.callee().toString() +
      ' coins=' +
      Context.transferredCoins().toString() +
      ' balance=' +
      balance().toString() +
      ' period=' +
      Context.currentPeriod().toString() +
      ' thread=' +
      Context.currentThread().toString() +
      ' time=' +
      Context.timestamp().toString() +
      ' write=' +
      (callerHasWriteAccess() ? '1' : '0'),
  );
}

// Args(to: string, amount: u64) → transfers from this contract.
export function pay(args: StaticArray<u8>): void {
  const a = new Args(args);
  const to = new Address(a.nextString().unwrap());
  const amount = a.nextU64().unwrap();
  transferCoins(to, amount);
  generateEvent('paid ' + amount.toString() + ' left ' + balance().toString());
}

// Args(from: string, to: string, amount: u64) → transfer_coins_for (needs write access on from).
export function payFor(args: StaticArray<u8>): void {
  const a = new Args(args);
  const from = new Address(a.nextString().unwrap());
  const to = new Address(a.nextString().unwrap());
  transferCoinsOf(from, to, a.nextU64().unwrap());
}

// Args(address: string) → Args(u64 balance).
export function balanceFor(args: StaticArray<u8>): StaticArray<u8> {
  return new Args().add(balanceOf(new Args(args).nextString().unwrap())).serialize();
}

// Args(target: string, function: string, params: bytes, coins: u64) → the callee's result.
export function forward(args: StaticArray<u8>): StaticArray<u8> {
  const a = new Args(args);
  const target = new Address(a.nextString().unwrap());
  const func = a.nextString().unwrap();
  const params = a.nextBytes().unwrap();
  const coins = a.nextU64().unwrap();
  return call(target, func, new Args(params), coins);
}

// Args(depth: u64) → calls itself depth more times (depth 0 returns); returns Args(u64 reached).
export function recurse(args: StaticArray<u8>): StaticArray<u8> {
  const depth = new Args(args).nextU64().unwrap();
  if (depth == 0) return new Args().add(u64(0)).serialize();
  const r = call(Context.callee(), 'recurse', new Args().add(depth - 1), 0);
  const below = new Args(r).nextU64().unwrap();
  return new Args().add(below + 1).serialize();
}

// local_call of another contract's getValue in this contract's context.
export function localGet(args: StaticArray<u8>): StaticArray<u8> {
  const a = new Args(args);
  const target = new Address(a.nextString().unwrap());
  return localCall(target, 'getValue', new Args().add(a.nextString().unwrap()));
}

// Deploys the bytecode given (Args(bytes)) and returns Args(address string, bool has "whoami").
export function spawn(args: StaticArray<u8>): StaticArray<u8> {
  const code = new Args(args).nextBytes().unwrap();
  const addr = createSC(code);
  Storage.setOf(addr, 'born', 'yes');
  return new Args().add(addr.toString()).add(functionExists(addr, 'whoami')).serialize();
}

// Replaces this contract's own bytecode with its own bytecode (a no-op upgrade).
export function upgrade(_: StaticArray<u8>): void {
  setBytecode(getBytecode());
}

// Hashes and crypto: Args(data: string, sig: string, pk: string) → Args(sha256, keccak, valid,
// address of pk, validate(pk address), eoa).
export function crypto(args: StaticArray<u8>): StaticArray<u8> {
  const a = new Args(args);
  const data = a.nextString().unwrap();
  const sig = a.nextString().unwrap();
  const pk = a.nextString().unwrap();
  const addr = publicKeyToAddress(pk);
  return new Args()
    .add(sha256(stringToBytes(data)))
    .add(keccak256(stringToBytes(data)))
    .add(isSignatureValid(pk, data, sig))
    .add(addr.toString())
    .add(validateAddress(addr.toString()))
    .add(validateAddress('AU1nope'))
    .add(isAddressEoa(addr.toString()))
    .add(unsafeRandom())
    .serialize();
}

// Failures.
export function fail(_: StaticArray<u8>): void {
  Storage.set('doomed', 'x');
  generateEvent('about to fail');
  assert(false, 'probe says no');
}

export function spin(_: StaticArray<u8>): void {
  let x: u64 = 0;
  while (true) {
    x += 1;
    if (x == 0) break;
  }
  Storage.set('never', x.toString());
}

export function badPointer(_: StaticArray<u8>): void {
  rawGenerateEvent(0xfffffff0);
}

export function badLength(_: StaticArray<u8>): void {
  // a "buffer" whose length header claims more bytes than memory holds
  const p = heap.alloc(16);
  store<u32>(p, 0x7fffffff);
  rawGetData(p + 4);
}

export function noisy(_: StaticArray<u8>): void {
  print('printed, not an event');
  for (let i = 0; i < 30; i++) generateEvent('event ' + i.toString());
}

export function bigEvent(_: StaticArray<u8>): void {
  generateEvent('x'.repeat(1025));
}

export function missingKey(_: StaticArray<u8>): void {
  Storage.get('absent');
}

export function opDataInCall(_: StaticArray<u8>): void {
  getOpData(stringToBytes('k'));
}

export function u64bytes(_: StaticArray<u8>): StaticArray<u8> {
  return u64ToBytes(42);
}
