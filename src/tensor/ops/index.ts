// Differentiable ops, one family per file.
export * from './creation.js';
export * from './shape.js';
export * from './reduce.js';
export * from './elementwise.js';
export * from './matmul.js';
export * from './softmax.js';
export * from './norm.js';
export * from './rope.js';
export * from './attention.js';
export * from './embedding.js';
export * from './dropout.js';
export * from './crossEntropy.js';
