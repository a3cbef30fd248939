//! Other crates' errors as sentences, where their own text is a debug dump: safetensors shows
//! every error as `IoError(Os { code: 28, kind: StorageFull, .. })`, and dfdx's loading error
//! has no text of its own.

use dfdx::tensor::safetensors::Error as LoadError;
use safetensors::SafeTensorError;

/// What went wrong with a safetensors file, in words: an I/O error as the system says it
/// (`No space left on device (os error 28)`), a malformed file by what is malformed. The
/// caller names the file and what to do.
pub fn safetensors_cause(error: &SafeTensorError) -> String {
    use SafeTensorError as E;
    match error {
        E::IoError(e) => e.to_string(),
        E::JsonError(e) => format!("its header is not valid JSON ({e})"),
        E::InvalidHeader | E::InvalidHeaderStart | E::InvalidHeaderDeserialization => {
            "its header is not a safetensors header".to_string()
        }
        E::InvalidHeaderLength | E::HeaderTooSmall => {
            "its header's length does not fit the file: it is truncated or not a safetensors file"
                .to_string()
        }
        E::HeaderTooLarge => "its header claims more than the 100 MB a header may be".to_string(),
        E::TensorNotFound(name) => format!("it holds no tensor {name}"),
        E::TensorInvalidInfo
        | E::InvalidOffset(_)
        | E::MetadataIncompleteBuffer
        | E::ValidationOverflow => {
            "its tensors' shapes and offsets do not match its size: it is truncated or damaged"
                .to_string()
        }
        E::InvalidTensorView(dtype, shape, bytes) => format!(
            "a tensor of type {dtype:?} and shape {shape:?} does not match its {bytes} bytes"
        ),
    }
}

/// What went wrong loading a safetensors file's tensors into the network, in words.
pub fn weights_load_cause(error: &LoadError) -> String {
    match error {
        LoadError::SafeTensorError(e) => safetensors_cause(e),
        LoadError::IoError(e) => e.to_string(),
        LoadError::MismatchedDimension((file, network)) => format!(
            "a tensor has shape {file:?} where this network's has {network:?}: the checkpoint is \
             from another model shape"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_read_as_the_system_says_them_not_as_a_debug_dump() {
        let full = std::io::Error::from_raw_os_error(28);
        let text = safetensors_cause(&SafeTensorError::IoError(full));
        assert!(text.contains("No space left on device"), "{text}");
        assert!(
            !text.contains("Os {") && !text.contains("IoError"),
            "{text}"
        );
        let text = safetensors_cause(&SafeTensorError::HeaderTooSmall);
        assert!(text.contains("truncated"), "{text}");
        let text = weights_load_cause(&LoadError::MismatchedDimension((vec![3], vec![4])));
        assert!(
            text.contains("[3]") && text.contains("another model shape"),
            "{text}"
        );
    }
}
