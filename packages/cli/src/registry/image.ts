import type { CommandEntry } from '../command.ts';

export const imageCommands: Record<string, CommandEntry> = {
  pull: {
    summary: 'pull an image from a registry into the image store',
    load: () => import('../commands/image/pull.ts'),
  },
  push: {
    summary: 'push an image from the image store to a registry',
    load: () => import('../commands/image/push.ts'),
  },
  images: {
    summary: 'list the images in the image store',
    load: () => import('../commands/image/images.ts'),
  },
  tag: { summary: 'give a stored image another name', load: () => import('../commands/image/tag.ts') },
  rmi: { summary: 'remove image names from the image store', load: () => import('../commands/image/rmi.ts') },
  inspect: {
    summary: 'print what the store knows about an image (JSON)',
    load: () => import('../commands/image/inspect.ts'),
  },
  image: {
    summary: 'image store maintenance (image gc|import|export)',
    load: () => import('../commands/image/image.ts'),
  },
};
