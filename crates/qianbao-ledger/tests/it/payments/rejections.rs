//! Every product's rejections leave the ledger and the payments store as they were.
