// Preloaded into pouchdb-server (`node --require ./sync.cjs …`) for the "synced" runs: every leveldb write (put,
// delete, batch) is made with `sync: true`, so leveldb syncs its log before the write's callback, and a document
// write is acknowledged only once it is on disk, as Hifazat acknowledges one. pouchdb-server itself is unchanged.
'use strict';
const path = require('path');
const server = path.dirname(require.resolve('pouchdb-server/package.json'));
const LevelDOWN = require(require.resolve('leveldown', { paths: [server] }));
const ChainedBatch = require(require.resolve('leveldown/chained-batch', { paths: [server] }));
const synced = (options) => Object.assign({}, options, { sync: true });
const { _put, _del, _batch } = LevelDOWN.prototype;
LevelDOWN.prototype._put = function (key, value, options, callback) {
  return _put.call(this, key, value, synced(options), callback);
};
LevelDOWN.prototype._del = function (key, options, callback) {
  return _del.call(this, key, synced(options), callback);
};
LevelDOWN.prototype._batch = function (operations, options, callback) {
  return _batch.call(this, operations, synced(options), callback);
};
const { _write } = ChainedBatch.prototype;
ChainedBatch.prototype._write = function (options, callback) {
  return _write.call(this, synced(options), callback);
};
