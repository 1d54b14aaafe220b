import { join } from 'node:path';
import type { ImageStore } from './image-store.js';
import { FileStore } from './file-store.js';
import { FakeStore } from './fake-store.js';

/** The stores an image service runs: the default data store and the staging area of imports. */
export interface ImageStores {
  data: ImageStore;
  staging: ImageStore;
}

/** Builds the stores by driver name: 'file' under <dataDir>/images, or the in-memory fake. */
export function createImageStores(kind: 'file' | 'fake', dataDir: string): ImageStores {
  if (kind === 'fake') return { data: new FakeStore('fake'), staging: new FakeStore('os_glance_staging_store') };
  const root = join(dataDir, 'images');
  return {
    data: new FileStore('file', root),
    staging: new FileStore('os_glance_staging_store', join(root, 'staging'), 'Staging area of interoperable image import'),
  };
}
