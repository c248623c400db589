/** The tensors module's public surface. */
export * from './dtype.js';
export * from './tensor.js';
export { encodeNpy, encodeNpyHeader, parseNpy, readNpy, readNpySync, writeNpy } from './npy.js';
export { parseNpz } from './npz.js';
export { encodeSafetensors, parseSafetensors, readSafetensors, readSafetensorsSync, writeSafetensors, SAFETENSORS_MAX_HEADER_BYTES, type SafetensorsContent } from './safetensors.js';
export { decodeModelProto, decodeTensorProto, parseTensorProto, tensorFromProto, ONNX_DTYPES, onnxDTypeName } from './onnx-proto.js';
export { listOnnxTestDataSets, onnxModelIoNames, readOnnxTestData, type OnnxTestData, type OnnxTestDataSet } from './onnx-test-data.js';
export { loadPt, parsePt, PICKLE_ALLOWLIST, type PtContent, type PtOptions } from './pt.js';
export { decodeTensorFile, readTensors, readTensorsSync, sniffFormat, type ReadTensorsOptions, type TensorFile, type TensorFileFormat } from './read.js';
export { formatInspect, inspectFile, inspectModelBytes, tensorStats, type InspectReport, type ModelReport, type TensorFileReport, type TensorStats } from './inspect.js';
export { DEFAULT_ZIP_LIMITS, type ZipLimits } from './zip.js';
