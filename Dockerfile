# syntax=docker/dockerfile:1
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=none
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" -o /out/cartrecovery ./cmd/cartrecovery

FROM gcr.io/distroless/static-debian12:nonroot
WORKDIR /app
COPY --from=build /out/cartrecovery /app/cartrecovery
COPY templates /app/templates
COPY config /app/config
USER nonroot
EXPOSE 8080
ENTRYPOINT ["/app/cartrecovery"]
CMD ["serve"]
