//! A tower [`Layer`] that caches a [`Service`]'s responses by a key derived from each
//! request, through [`Cache::get_with`] (so concurrent identical requests reach the inner
//! service once, and its errors are not cached).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use serde::Serialize;
use serde::de::DeserializeOwned;
use tower_layer::Layer;
use tower_service::Service;

use super::codec::Codec;
use super::typed::Cache;

/// Wraps services in a [`CacheService`].
///
/// ```
/// use std::convert::Infallible;
/// use wasmcache::MemoryBackendFactory;
/// use wasmcache::cache::{Cache, CacheLayer};
/// use tower_layer::Layer;
/// use tower_service::Service;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let cache: Cache<String, String> = Cache::builder("greetings").build(&MemoryBackendFactory::default())?;
/// let greet = tower_service_fn(|name: String| async move { Ok::<_, Infallible>(format!("hello {name}")) });
/// let mut service = CacheLayer::new(cache, |name: &String| name.clone()).layer(greet);
/// assert_eq!(service.call("ada".to_string()).await.unwrap(), "hello ada");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// # #[derive(Clone)] struct ServiceFn<F>(F);
/// # fn tower_service_fn<F>(f: F) -> ServiceFn<F> { ServiceFn(f) }
/// # impl<F, Fut, R, T, E> Service<R> for ServiceFn<F> where F: FnMut(R) -> Fut, Fut: std::future::Future<Output = Result<T, E>> {
/// #     type Response = T; type Error = E; type Future = Fut;
/// #     fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), E>> { std::task::Poll::Ready(Ok(())) }
/// #     fn call(&mut self, r: R) -> Fut { (self.0)(r) }
/// # }
/// ```
pub struct CacheLayer<K: ?Sized, V, C, F> {
    cache: Cache<K, V, C>,
    key: Arc<F>,
}

impl<K, V, C, F> CacheLayer<K, V, C, F> {
    /// Caches responses in `cache` under `key(&request)`.
    pub fn new(cache: Cache<K, V, C>, key: F) -> Self {
        CacheLayer {
            cache,
            key: Arc::new(key),
        }
    }
}

impl<K, V, C, F> Clone for CacheLayer<K, V, C, F> {
    fn clone(&self) -> Self {
        CacheLayer {
            cache: self.cache.clone(),
            key: self.key.clone(),
        }
    }
}

impl<S, K, V, C, F> Layer<S> for CacheLayer<K, V, C, F> {
    type Service = CacheService<S, K, V, C, F>;

    fn layer(&self, inner: S) -> Self::Service {
        CacheService {
            inner,
            cache: self.cache.clone(),
            key: self.key.clone(),
        }
    }
}

/// A service whose responses are cached; see [`CacheLayer`]. Its errors are the inner
/// service's, shared between coalesced callers through an [`Arc`].
pub struct CacheService<S, K: ?Sized, V, C, F> {
    inner: S,
    cache: Cache<K, V, C>,
    key: Arc<F>,
}

impl<S, K, V, C, F> CacheService<S, K, V, C, F> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: Clone, K, V, C, F> Clone for CacheService<S, K, V, C, F> {
    fn clone(&self) -> Self {
        CacheService {
            inner: self.inner.clone(),
            cache: self.cache.clone(),
            key: self.key.clone(),
        }
    }
}

impl<S, R, K, V, C, F> Service<R> for CacheService<S, K, V, C, F>
where
    S: Service<R, Response = V> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Send + Sync + 'static,
    R: Send + 'static,
    K: Serialize + Send + Sync + 'static,
    V: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
    C: Codec,
    F: Fn(&R) -> K + Send + Sync + 'static,
{
    type Response = V;
    type Error = Arc<S::Error>;
    type Future = Pin<Box<dyn Future<Output = Result<V, Arc<S::Error>>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Arc::new)
    }

    fn call(&mut self, request: R) -> Self::Future {
        let key = (self.key)(&request);
        let cache = self.cache.clone();
        // The ready service goes into the future; a clone stays for the next call.
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        Box::pin(async move { cache.get_with(&key, move || inner.call(request)).await })
    }
}
