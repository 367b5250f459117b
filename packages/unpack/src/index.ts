export {
  type ApplyLayerOptions,
  type ApplyLayerResult,
  applyLayer,
  type WhiteoutMode,
} from './apply-layer.ts';
export type { IdMap, IdMapping } from './idmap.ts';
export { defaultLimits, type UnpackLimits } from './limits.ts';
export { type Compression, layerCompression } from './media-types.ts';
