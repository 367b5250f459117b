export {
  type ApplyLayerOptions,
  type ApplyLayerResult,
  applyLayer,
  type WhiteoutMode,
} from './apply-layer.ts';
export { chainIds } from './chain-id.ts';
export type { IdMap, IdMapping } from './idmap.ts';
export { defaultLimits, type UnpackLimits } from './limits.ts';
export { type Compression, layerCompression } from './media-types.ts';
export { mountOverlay, type OverlayMount, overlayOptions, unmountOverlay } from './overlay.ts';
export { type Holder, SnapshotStore } from './snapshots.ts';
export {
  type LayerSource,
  snapshotKey,
  type UnpackLayersOptions,
  type UnpackResult,
  unpackLayers,
} from './unpack-layers.ts';
