/** The proof of issue 15 for the local platform's 6.9 profile: see tests/helpers/sync-proof.ts. */
import { syncProofTest } from './helpers/sync-proof.js';

syncProofTest('6.9', 202);
