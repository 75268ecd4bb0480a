declare module "snappyjs" {
  const SnappyJS: {
    compress(input: Uint8Array): Uint8Array<ArrayBuffer>;
    uncompress(input: Uint8Array, maxLength?: number): Uint8Array;
  };
  export default SnappyJS;
}
