// The edgeq release, for `edgeq --version` and the Worker's `GET /` page; a
// unit test keeps it equal to package.json's version.
export const EDGEQ_VERSION = "0.1.0";
