// The study's main configurations as one-click links (the "Studies" section of the page).
// Edit the list here: each entry is a title and the page's query string for it. A link
// is a plain <a href="?query">, so following it loads the page afresh, exactly like
// opening a shared link.

import { clear, el } from './dom.js';

export const STUDIES = [
  {
    title: 'Main: trained distribution vs Kaiming (nano, no warmup)',
    query: 'preset=nano&norm=layer&inits=kaiming,empirical,gaussian-matched,permuted&source=teacher-nano&scale=as-is&seed=1&seeds=1&backend=auto&steps=300&batch=8&context=64&lr=0.003&warmup=0&eval_every=10&eval_batches=4',
  },
  {
    title: 'Without LayerNorm',
    query: 'preset=nano&norm=none&inits=kaiming,pythia,empirical,gaussian-matched&source=teacher-nano&scale=as-is&seed=1&seeds=1&backend=auto&steps=300&batch=8&context=64&lr=0.003&warmup=0&eval_every=10&eval_batches=4',
  },
  {
    title: 'Depth: 8 layers, no LayerNorm',
    query: 'preset=nano&layers=8&norm=none&inits=kaiming,pythia,empirical&source=teacher-nano&scale=shape-only&seed=1&seeds=1&backend=auto&steps=200&batch=8&context=64&lr=0.003&warmup=20&eval_every=10&eval_batches=4',
  },
  {
    title: "Transfer: MiniLM-L6's real histograms",
    query: 'preset=nano&norm=layer&inits=kaiming,empirical,gaussian-matched&source=minilm-l6&scale=shape-only&seed=1&seeds=1&backend=auto&steps=300&batch=8&context=64&lr=0.003&warmup=30&eval_every=10&eval_batches=4',
  },
  {
    title: 'Round three: both sides tuned, nano (kaiming, empirical, Gaussian at the trained moments, pythia)',
    query: 'preset=nano&norm=layer&inits=kaiming,empirical,gaussian-matched,pythia&source=teacher-nano&scale=as-is&scope=all&tuned=kaiming%2Fembed%3A0.015625%2F2%3Bpythia%2Fembed%3A0.015625,unembed%3A4,out%3A4%2F4%3Bempirical%2Fembed%3A0.0625%2F2%3Bgaussian-matched%2Fall%3A0.5,embed%3A0.0625,out%3A4,norm%3A0.5%2F4&seed=1&seeds=1&backend=auto&steps=300&batch=8&context=64&lr=0.003&warmup=30&min_lr_ratio=0.1&weight_decay=0.1&beta1=0.9&beta2=0.95&eps=0.00000001&clip=1&eval_every=10&eval_batches=64',
  },
  {
    title: 'Round three: both sides tuned, micro (here the trained histogram won)',
    query: 'preset=micro&norm=layer&inits=kaiming,empirical,gaussian-matched,pythia&source=teacher-micro&scale=as-is&scope=all&tuned=kaiming%2Funembed%3A4%2F1%3Bpythia%2Funembed%3A4%2F1%3Bempirical%2Fembed%3A4,out%3A4%2F2%3Bgaussian-matched%2Fembed%3A0.25%2F1&seed=1&seeds=1&backend=auto&steps=200&batch=8&context=64&lr=0.003&warmup=20&min_lr_ratio=0.1&weight_decay=0.1&beta1=0.9&beta2=0.95&eps=0.00000001&clip=1&eval_every=20&eval_batches=64',
  },
  {
    title: 'Round two: empirical vs Kaiming with tuned scales',
    query: 'preset=nano&norm=layer&inits=kaiming,empirical&source=teacher-nano&scale=as-is&tuned=kaiming%2Fall%3A0.5,embed%3A0.015625,unembed%3A4,out%3A0.25,norm%3A2%2F1%3Bpythia%2Fall%3A0.5,embed%3A0.015625,unembed%3A4,out%3A0.25,norm%3A2%2F1&seed=1&seeds=1&backend=auto&steps=300&batch=8&context=64&lr=0.003&warmup=30&eval_every=10&eval_batches=4',
  },
  {
    title: 'Round two: shape at a fixed scale (Gaussian, histogram, Student-t)',
    query: 'preset=nano&norm=layer&inits=gaussian-matched,empirical,student-t-matched&source=teacher-nano&scale=as-is&seed=1&seeds=1&backend=auto&steps=300&batch=8&context=64&lr=0.003&warmup=30&eval_every=10&eval_batches=4',
  },
  {
    title: 'Without LayerNorm, from a teacher trained without it',
    query: 'preset=nano&norm=none&inits=kaiming,empirical,gaussian-matched&source=teacher-nano-nonorm&scale=as-is&seed=1&seeds=1&backend=auto&steps=300&batch=8&context=64&lr=0.003&warmup=30&eval_every=10&eval_batches=4',
  },
  {
    title: 'Learning rate 4x (0.012)',
    query: 'preset=nano&norm=layer&inits=kaiming,empirical&source=teacher-nano&scale=as-is&seed=1&seeds=1&backend=auto&steps=300&batch=8&context=64&lr=0.012&warmup=30&eval_every=10&eval_batches=4',
  },
];

/** Fills `list` (a <ul>) with a link per study. */
export function renderStudies(list) {
  clear(list);
  for (const study of STUDIES) {
    const link = el('a', { textContent: study.title });
    link.setAttribute('href', `?${study.query}`);
    link.title = 'Load these settings (then press Start)';
    list.append(el('li', {}, [link]));
  }
}
