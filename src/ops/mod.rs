//! What the remote commands compute without AWS: Lambda's REPORT lines read back
//! ([`report`]), the price table and the bill ([`price`]), and power tuning's picks ([`tune`]).
//! Pure, unit-tested; `provider::aws::remote` reads and calls, the commands `invoke`, `logs`, `metrics`, `cost` and `tune` print.

pub mod price;
pub mod report;
pub mod tune;
