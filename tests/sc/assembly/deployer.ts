// deployer — deploys the contract in the operation datastore as massa-web3's deployer does
// (create_sc, then constructor(args) with coins when the contract exports one, then an event).
// Op datastore: "code" = bytecode, optional "args" = constructor parameter bytes, optional
// "coins" = u64 (8 bytes LE) sent with the constructor call.
import { Args, bytesToU64, stringToBytes } from '@massalabs/as-types';
import {
  call,
  createSC,
  functionExists,
  generateEvent,
  getOpData,
  hasOpKey,
} from '@massalabs/massa-as-sdk';

export function main(_: StaticArray<u8>): void {
  const code = getOpData(stringToBytes('code'));
  const addr = createSC(code);
  if (functionExists(addr, 'constructor')) {
    const args = hasOpKey(stringToBytes('args')) ? getOpData(stringToBytes('args')) : [];
    const coins = hasOpKey(stringToBytes('coins')) ? bytesToU64(getOpData(stringToBytes('coins'))) : 0;
    call(addr, 'constructor', new Args(args), coins);
  }
  generateEvent('Contract deployed at address: ' + addr.toString());
}
