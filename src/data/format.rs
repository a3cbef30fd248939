//! The fixed numbers of the IDX format: magic numbers and header lengths.
//!
//! They live apart from the reader so that both the reader ([`super::idx`]) and the error
//! messages ([`super::error`]) can use them without importing each other.

/// Magic number of an IDX images file (unsigned bytes, 3 dimensions): 0x00000803.
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX labels file (unsigned bytes, 1 dimension): 0x00000801.
pub const LABELS_MAGIC: u32 = 0x0000_0801;
/// Bytes in an images header: magic, count, rows, cols.
pub const IMAGES_HEADER_LEN: usize = 16;
/// Bytes in a labels header: magic, count.
pub const LABELS_HEADER_LEN: usize = 8;
