//! The one thread that does the CPU-heavy work of photos.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};

use hifazat_faces::chip::Rgb;
use hifazat_faces::{Face, Pipeline};
use hifazat_photos::{Photo, PhotoError, PhotoId};
use tokio::sync::oneshot;

/// Uploads waiting at most; past that an upload is refused for now (the node is busy).
pub const UPLOADS_QUEUED_MAX: usize = 16;
/// Photos from elsewhere waiting to be described at most; past that, they wait for the next sweep.
pub const BACKGROUND_QUEUED_MAX: usize = 10_000;

/// An uploaded photo, cleaned, and the faces in it.
#[derive(Debug, Clone)]
pub struct Uploaded {
    pub photo: Photo,
    pub faces: Vec<Face>,
}

/// A held photo's faces.
#[derive(Debug, Clone)]
pub struct Described {
    pub photo: PhotoId,
    pub faces: Vec<Face>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkerError {
    /// The photo itself is refused, and why.
    #[error("{0}")]
    Photo(PhotoError),
    /// Too many photos wait already.
    #[error("photos are being processed; try again in a minute")]
    Busy,
    /// The worker has stopped.
    #[error("the photo worker has stopped")]
    Stopped,
}

enum Job {
    Upload {
        bytes: Vec<u8>,
        reply: oneshot::Sender<Result<Uploaded, WorkerError>>,
    },
    Describe {
        photo: PhotoId,
        bytes: Vec<u8>,
        reply: oneshot::Sender<Result<Described, WorkerError>>,
    },
}

#[derive(Default)]
struct Queues {
    uploads: VecDeque<Job>,
    background: VecDeque<Job>,
}

/// The photo worker's handle; cloning shares the one thread.
#[derive(Clone)]
pub struct Worker {
    shared: Arc<(Mutex<Queues>, Condvar)>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").finish_non_exhaustive()
    }
}

impl Worker {
    /// Starts the thread; the models are read on it, so starting does not wait for them.
    pub fn start() -> std::io::Result<Worker> {
        let shared = Arc::new((Mutex::new(Queues::default()), Condvar::new()));
        let theirs = shared.clone();
        std::thread::Builder::new()
            .name("hifazat-faces".into())
            .spawn(move || run(&theirs))?;
        Ok(Worker { shared })
    }

    fn push(&self, job: Job, upload: bool) -> Result<(), ()> {
        let (lock, wake) = &*self.shared;
        let mut q = lock.lock().expect("worker lock");
        let (queue, max) = if upload {
            (&mut q.uploads, UPLOADS_QUEUED_MAX)
        } else {
            (&mut q.background, BACKGROUND_QUEUED_MAX)
        };
        if queue.len() >= max {
            return Err(());
        }
        queue.push_back(job);
        wake.notify_one();
        Ok(())
    }

    /// Cleans an uploaded photo (`hifazat_photos::clean`) and finds and describes its faces.
    pub async fn upload(&self, bytes: Vec<u8>) -> Result<Uploaded, WorkerError> {
        let (reply, answer) = oneshot::channel();
        self.push(Job::Upload { bytes, reply }, true)
            .map_err(|()| WorkerError::Busy)?;
        answer.await.map_err(|_| WorkerError::Stopped)?
    }

    /// Finds and describes the faces in a held clean photo, after any uploads waiting.
    pub async fn describe(&self, photo: PhotoId, bytes: Vec<u8>) -> Result<Described, WorkerError> {
        let (reply, answer) = oneshot::channel();
        self.push(
            Job::Describe {
                photo,
                bytes,
                reply,
            },
            false,
        )
        .map_err(|()| WorkerError::Busy)?;
        answer.await.map_err(|_| WorkerError::Stopped)?
    }

    /// Photos waiting: uploads, and others.
    pub fn queued(&self) -> (usize, usize) {
        let q = self.shared.0.lock().expect("worker lock");
        (q.uploads.len(), q.background.len())
    }
}

/// The faces in a clean photo's pixels.
fn faces_of(pipeline: &Pipeline, clean: &[u8]) -> Result<Vec<Face>, PhotoError> {
    let (width, height, data) = hifazat_photos::pixels(clean)?;
    Ok(pipeline.faces(&Rgb {
        width: width as usize,
        height: height as usize,
        data,
    }))
}

fn run(shared: &(Mutex<Queues>, Condvar)) {
    let pipeline = Pipeline::bundled();
    let (lock, wake) = shared;
    loop {
        let job = {
            let mut q = lock.lock().expect("worker lock");
            loop {
                if let Some(job) = q.uploads.pop_front().or_else(|| q.background.pop_front()) {
                    break job;
                }
                q = wake.wait(q).expect("worker lock");
            }
        };
        match job {
            Job::Upload { bytes, reply } => {
                let result = hifazat_photos::clean(&bytes)
                    .and_then(|photo| {
                        let faces = faces_of(&pipeline, &photo.bytes)?;
                        Ok(Uploaded { photo, faces })
                    })
                    .map_err(WorkerError::Photo);
                let _ = reply.send(result);
            }
            Job::Describe {
                photo,
                bytes,
                reply,
            } => {
                let result = faces_of(&pipeline, &bytes)
                    .map(|faces| Described { photo, faces })
                    .map_err(WorkerError::Photo);
                let _ = reply.send(result);
            }
        }
    }
}
