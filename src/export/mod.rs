//! The network as an ONNX model, for runtimes other than digitdash (onnxruntime, tract, ...).
//!
//! The graph, opset 13, one node a step of [`crate::model`]'s forward pass:
//!
//! ```text
//! image [N,1,28,28] -Conv 5x5 pads 2-> -Relu-> -MaxPool 2x2-> [N,32,14,14]
//!                   -Conv 5x5 pads 2-> -Relu-> -MaxPool 2x2-> [N,64,7,7]
//!                   -Flatten-> [N,3136] -Gemm transB-> -Relu-> [N,1024]
//!                   -Gemm transB-> logits [N,10]  (-Softmax-> probabilities [N,10])
//! ```
//!
//! The input is named [`INPUT`]: float pixels in 0..1, light ink on black, as the dataset's
//! images are (`pixel / 255`). Dropout is left out: at inference it is the identity. Each
//! weight keeps digitdash's (and PyTorch's) layout, so no tensor is transposed: convolution
//! kernels `[out, in, 5, 5]`, dense weights `[out, in]` (hence `transB = 1`), and `Flatten`
//! takes the `[64, 7, 7]` maps in row-major (channel, row, column) order as [`crate::model`]
//! does. The model's metadata names the dataset and its classes.

mod onnx_proto;

use dfdx::prelude::*;
use prost::Message;

use crate::data::Dataset;
use crate::model::{contents, Layers, Network, CLASSES, KERNEL};
use onnx_proto::{
    AttributeProto, AttributeType, DataType, Dimension, GraphProto, ModelProto, NodeProto,
    OperatorSetIdProto, StringStringEntryProto, TensorProto, TensorShapeProto, TensorTypeProto,
    TypeProto, ValueInfoProto,
};

/// The name of the model's input: `[N, 1, 28, 28]` float pixels in 0..1.
pub const INPUT: &str = "image";
/// The name of the output when it holds the ten logits, `[N, 10]`.
pub const LOGITS: &str = "logits";
/// The name of the output when it holds the ten class probabilities (softmax), `[N, 10]`.
pub const PROBABILITIES: &str = "probabilities";
/// The ONNX operator set the graph uses.
pub const OPSET: i64 = 13;
/// The ONNX IR version that goes with [`OPSET`] (ONNX 1.8).
const IR_VERSION: i64 = 7;
/// The name of the batch dimension, chosen by the caller.
const BATCH: &str = "N";

/// What an exported model says about where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportInfo {
    /// The dataset the network was trained on (its classes name the outputs).
    pub dataset: Dataset,
    /// Training steps done, when known.
    pub step: Option<u64>,
    /// Accuracy at the checkpoint on the split its run chose by, when known: (the split's
    /// name, `validation` or `test`; the accuracy).
    pub accuracy: Option<(&'static str, f64)>,
    /// Output the softmax probabilities rather than the logits.
    pub probabilities: bool,
}

/// The name of the model's output for `info`: [`LOGITS`] or [`PROBABILITIES`].
pub fn output_name(info: &ExportInfo) -> &'static str {
    if info.probabilities {
        PROBABILITIES
    } else {
        LOGITS
    }
}

/// The network as the bytes of an `.onnx` file.
pub fn to_onnx(model: &Network, info: &ExportInfo) -> Vec<u8> {
    let output = output_name(info);
    let graph = GraphProto {
        node: nodes(info.probabilities),
        name: "deep_mnist".to_string(),
        initializer: weights(model),
        doc_string: format!(
            "The TensorFlow 'Deep MNIST' network trained by digitdash on {}.",
            info.dataset.title()
        ),
        input: vec![value(
            INPUT,
            &[
                Size::Batch,
                Size::Fixed(1),
                Size::Fixed(28),
                Size::Fixed(28),
            ],
            "float pixels in 0..1 (byte / 255), light ink on black, 28x28, one channel",
        )],
        output: vec![value(
            output,
            &[Size::Batch, Size::Fixed(CLASSES as i64)],
            if info.probabilities {
                "the probability of each class (softmax of the logits)"
            } else {
                "the ten logits; softmax gives the class probabilities"
            },
        )],
    };
    ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        producer_name: "digitdash".to_string(),
        producer_version: env!("CARGO_PKG_VERSION").to_string(),
        domain: "digitdash".to_string(),
        model_version: 1,
        doc_string: format!(
            "Input '{INPUT}' [N,1,28,28] float in 0..1; output '{output}' [N,10]. Classes: {}.",
            class_list(info.dataset)
        ),
        graph: Some(graph),
        metadata_props: metadata(info),
    }
    .encode_to_vec()
}

/// `0 T-shirt/top, 1 Trouser, ...`.
fn class_list(dataset: Dataset) -> String {
    let names: Vec<String> = (0..CLASSES)
        .map(|class| format!("{class} {}", dataset.class_name(class)))
        .collect();
    names.join(", ")
}

/// The model's metadata: dataset, class names (a JSON array), step and test accuracy.
fn metadata(info: &ExportInfo) -> Vec<StringStringEntryProto> {
    let mut entries = vec![
        ("dataset", info.dataset.name().to_string()),
        (
            "class_names",
            serde_json::to_string(info.dataset.class_names()).unwrap_or_default(),
        ),
        ("input", format!("{INPUT}: [N,1,28,28] float32 in 0..1")),
        ("output", format!("{}: [N,10] float32", output_name(info))),
    ];
    if let Some(step) = info.step {
        entries.push(("step", step.to_string()));
    }
    if let Some((split, accuracy)) = info.accuracy {
        let key = if split == "validation" {
            "validation_accuracy"
        } else {
            "test_accuracy"
        };
        entries.push((key, format!("{accuracy:.4}")));
    }
    entries
        .into_iter()
        .map(|(key, value)| StringStringEntryProto {
            key: key.to_string(),
            value,
        })
        .collect()
}

/// One dimension of a declared shape.
#[derive(Clone, Copy)]
enum Size {
    /// The batch, [`BATCH`].
    Batch,
    /// A fixed size.
    Fixed(i64),
}

/// A float tensor value of the graph's interface.
fn value(name: &str, sizes: &[Size], doc: &str) -> ValueInfoProto {
    let dim = sizes
        .iter()
        .map(|size| match size {
            Size::Batch => Dimension {
                dim_value: None,
                dim_param: Some(BATCH.to_string()),
            },
            Size::Fixed(n) => Dimension {
                dim_value: Some(*n),
                dim_param: None,
            },
        })
        .collect();
    ValueInfoProto {
        name: name.to_string(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: DataType::Float as i32,
                shape: Some(TensorShapeProto { dim }),
            }),
        }),
        doc_string: doc.to_string(),
    }
}

/// Every weight of the network as a named constant, in digitdash's layout.
fn weights(model: &Network) -> Vec<TensorProto> {
    let (conv1, conv2) = (model.conv1(), model.conv2());
    let (hidden, output) = (model.hidden(), model.output());
    vec![
        tensor("conv1.weight", &conv1.weight),
        tensor("conv1.bias", &conv1.bias),
        tensor("conv2.weight", &conv2.weight),
        tensor("conv2.bias", &conv2.bias),
        tensor("hidden.weight", &hidden.weight),
        tensor("hidden.bias", &hidden.bias),
        tensor("output.weight", &output.weight),
        tensor("output.bias", &output.bias),
    ]
}

/// A named constant holding `t`'s values (row-major, little-endian).
fn tensor<S: Shape>(name: &str, t: &Tensor<S, f32, Cpu>) -> TensorProto {
    let values = contents(t);
    TensorProto {
        dims: t.shape().concrete().into_iter().map(|d| d as i64).collect(),
        data_type: DataType::Float as i32,
        name: name.to_string(),
        raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    }
}

/// The forward pass, one node a step; the last node writes the graph's output.
fn nodes(probabilities: bool) -> Vec<NodeProto> {
    let kernel = KERNEL as i64;
    let pad = kernel / 2;
    let conv = |name: &str, input: &str| {
        node(
            "Conv",
            name,
            &[input, &format!("{name}.weight"), &format!("{name}.bias")],
            vec![
                ints("kernel_shape", &[kernel, kernel]),
                ints("pads", &[pad, pad, pad, pad]),
                ints("strides", &[1, 1]),
            ],
        )
    };
    let pool = |name: &str, input: &str| {
        node(
            "MaxPool",
            name,
            &[input],
            vec![ints("kernel_shape", &[2, 2]), ints("strides", &[2, 2])],
        )
    };
    let gemm = |name: &str, input: &str| {
        node(
            "Gemm",
            name,
            &[input, &format!("{name}.weight"), &format!("{name}.bias")],
            vec![int("transB", 1)],
        )
    };
    let mut nodes = vec![
        conv("conv1", INPUT),
        node("Relu", "conv1_relu", &["conv1"], vec![]),
        pool("conv1_pool", "conv1_relu"),
        conv("conv2", "conv1_pool"),
        node("Relu", "conv2_relu", &["conv2"], vec![]),
        pool("conv2_pool", "conv2_relu"),
        node("Flatten", "flat", &["conv2_pool"], vec![int("axis", 1)]),
        gemm("hidden", "flat"),
        node("Relu", "hidden_relu", &["hidden"], vec![]),
        gemm("output", "hidden_relu"),
    ];
    let last = if probabilities {
        nodes.push(node(
            "Softmax",
            "softmax",
            &["output"],
            vec![int("axis", 1)],
        ));
        PROBABILITIES
    } else {
        LOGITS
    };
    if let Some(node) = nodes.last_mut() {
        node.output = vec![last.to_string()];
    }
    nodes
}

/// A node named `name` whose output is also called `name`.
fn node(op: &str, name: &str, inputs: &[&str], attribute: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![name.to_string()],
        name: name.to_string(),
        op_type: op.to_string(),
        attribute,
    }
}

/// An integer attribute.
fn int(name: &str, value: i64) -> AttributeProto {
    AttributeProto {
        name: name.to_string(),
        r#type: AttributeType::Int as i32,
        i: value,
        ..Default::default()
    }
}

/// A list-of-integers attribute.
fn ints(name: &str, values: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.to_string(),
        r#type: AttributeType::Ints as i32,
        ints: values.to_vec(),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(probabilities: bool) -> ExportInfo {
        ExportInfo {
            dataset: Dataset::FashionMnist,
            step: Some(300),
            accuracy: Some(("test", 0.875)),
            probabilities,
        }
    }

    #[test]
    fn the_file_decodes_to_the_graph_with_every_weight() {
        let device = Cpu::default();
        let model = crate::model::build(&device, crate::model::Init::FanIn);
        let bytes = to_onnx(&model, &info(false));
        let back = ModelProto::decode(bytes.as_slice()).unwrap();
        assert_eq!(back.opset_import[0].version, OPSET);
        let graph = back.graph.unwrap();
        let ops: Vec<&str> = graph.node.iter().map(|n| n.op_type.as_str()).collect();
        assert_eq!(
            ops,
            [
                "Conv", "Relu", "MaxPool", "Conv", "Relu", "MaxPool", "Flatten", "Gemm", "Relu",
                "Gemm"
            ]
        );
        assert_eq!(graph.node.last().unwrap().output, [LOGITS]);
        assert_eq!(graph.input[0].name, INPUT);
        let sizes: usize = graph.initializer.iter().map(|t| t.raw_data.len() / 4).sum();
        assert_eq!(
            sizes,
            32 * 25 + 32 + 64 * 32 * 25 + 64 + 1024 * 3136 + 1024 + 10 * 1024 + 10
        );
        let hidden = &graph.initializer[4];
        assert_eq!(hidden.dims, [1024, 3136]);
        let first = f32::from_le_bytes(hidden.raw_data[..4].try_into().unwrap());
        assert_eq!(first, contents(&model.hidden().weight)[0]);
        let classes = back
            .metadata_props
            .iter()
            .find(|e| e.key == "class_names")
            .unwrap();
        assert!(
            classes.value.contains("\"Ankle boot\""),
            "{}",
            classes.value
        );
    }

    #[test]
    fn probabilities_add_a_softmax_named_for_them() {
        let device = Cpu::default();
        let model = crate::model::build(&device, crate::model::Init::FanIn);
        let back = ModelProto::decode(to_onnx(&model, &info(true)).as_slice()).unwrap();
        let graph = back.graph.unwrap();
        let last = graph.node.last().unwrap();
        assert_eq!(last.op_type, "Softmax");
        assert_eq!(last.output, [PROBABILITIES]);
        assert_eq!(graph.output[0].name, PROBABILITIES);
    }
}
