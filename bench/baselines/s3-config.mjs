/** Builds the S3 client settings of the bench's baselines from the same S3_* variables as the gateway. */
export function s3ClientConfig() {
  const env = process.env
  for (const name of ['S3_ENDPOINT', 'S3_BUCKET', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY']) {
    if (!env[name]) {
      throw new Error(`${name} is not set; the baselines need the same S3_* variables as the gateway.`)
    }
  }

  return {
    endpoint: env.S3_ENDPOINT,
    region: env.S3_REGION || 'us-east-1',
    forcePathStyle: env.S3_FORCE_PATH_STYLE === 'true' || env.S3_FORCE_PATH_STYLE === '1',
    credentials: { accessKeyId: env.S3_ACCESS_KEY_ID, secretAccessKey: env.S3_SECRET_ACCESS_KEY },
    // The gateway's settings too: Ceph RGW 16 rejects the aws-chunked encoding that
    // default checksums use for a streamed body of unknown length (411).
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  }
}

export const BUCKET = process.env.S3_BUCKET
