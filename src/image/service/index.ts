import type { ImageDeps } from './context.js';
import { ImageData } from './image-data.js';
import { Images } from './images.js';
import { Imports } from './imports.js';
import { Members } from './members.js';
import { ImageQuotas } from './quotas.js';
import { Metadefs } from './metadefs.js';
import { MetadefRepo } from '../db/metadefs-repo.js';

/** The image service's logic, area by area. */
export interface ImageServices {
  deps: ImageDeps;
  images: Images;
  data: ImageData;
  imports: Imports;
  members: Members;
  quotas: ImageQuotas;
  metadefs: Metadefs;
}

export function createImageServices(deps: ImageDeps): ImageServices {
  const quotas = new ImageQuotas(deps.identity, deps.images);
  const images = new Images(deps, quotas);
  const data = new ImageData(deps, images, quotas);
  return {
    deps, images, data, quotas,
    imports: new Imports(deps, images, data, quotas),
    members: new Members(deps, images),
    metadefs: new Metadefs(new MetadefRepo(deps.db)),
  };
}
